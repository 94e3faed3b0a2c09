//! Sends finished tries' logs to the servers (`UploadLogs`) once their results
//! are recorded, so that a log outlives this worker. Logs queue up and go many
//! per call (one call per finished task cost the bash benchmark a sixth of its
//! throughput): chunks of 1 MiB, at most 4 MiB per call, the first 64 MiB of a
//! log (what the servers keep; the rest stays on this disk). A call no leader
//! takes within two minutes is given up: those logs stay here, and the API
//! reads them from here as before.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kairos_dag::identity::TaskInstanceKey;
use kairos_proto::v1::{LogChunk, UploadLogsRequest};
use tokio::sync::Notify;

use super::shared::Agent;
use crate::logs;

const CHUNK_BYTES: usize = 1 << 20;
const CALL_BYTES: usize = 4 << 20;
const MAX_SENT_BYTES: u64 = 64 << 20;
/// How long a first finished log waits for others to share its call.
const GATHER: Duration = Duration::from_millis(50);

/// A log waiting to be sent.
pub(super) struct Pending {
    pub ti: TaskInstanceKey,
    pub try_number: u32,
    pub attempt: String,
}

/// The logs waiting to be sent.
#[derive(Default)]
pub(super) struct Queue {
    pending: Mutex<Vec<Pending>>,
    added: Notify,
}

impl Queue {
    pub(super) fn push(&self, pending: Pending) {
        match self.pending.lock() {
            Ok(mut p) => p.push(pending),
            Err(poisoned) => poisoned.into_inner().push(pending),
        }
        self.added.notify_one();
    }

    fn take(&self) -> Vec<Pending> {
        match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

/// Sends queued logs until the worker stops.
pub(super) async fn upload_loop(agent: Arc<Agent>) {
    loop {
        agent.log_uploads.added.notified().await;
        tokio::time::sleep(GATHER).await;
        send_queued(&agent).await;
    }
}

/// Sends what is queued now (also when the worker drains).
pub(super) async fn send_queued(agent: &Agent) {
    let pending = agent.log_uploads.take();
    if pending.is_empty() {
        return;
    }
    let dir = agent.config.log_dir();
    let chunks = tokio::task::spawn_blocking(move || {
        pending
            .into_iter()
            .flat_map(|p| chunks_of(&dir, p))
            .collect::<Vec<LogChunk>>()
    })
    .await
    .unwrap_or_default();
    let mut call: Vec<LogChunk> = Vec::new();
    let mut bytes = 0;
    for chunk in chunks {
        if !call.is_empty() && bytes + chunk.data.len() > CALL_BYTES {
            send(agent, std::mem::take(&mut call)).await;
            bytes = 0;
        }
        bytes += chunk.data.len();
        call.push(chunk);
    }
    if !call.is_empty() {
        send(agent, call).await;
    }
}

/// One log's chunks (an empty log is one empty last chunk: the servers then
/// know it is whole); none when it cannot be read.
fn chunks_of(dir: &std::path::Path, p: Pending) -> Vec<LogChunk> {
    let path = logs::log_path(dir, &p.ti, p.try_number);
    let mut data = Vec::new();
    let read =
        std::fs::File::open(&path).and_then(|f| f.take(MAX_SENT_BYTES).read_to_end(&mut data));
    match read {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(ti = %p.ti, log = %path.display(), "cannot read the log to send it to the servers (it stays here): {e}");
            return Vec::new();
        }
    }
    let pieces: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(CHUNK_BYTES).collect()
    };
    let count = pieces.len();
    let mut offset = 0u64;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let chunk = LogChunk {
                ti: Some((&p.ti).into()),
                attempt: p.attempt.clone(),
                try_number: p.try_number,
                offset,
                data: piece.to_vec(),
                last: i + 1 == count,
            };
            offset += piece.len() as u64;
            chunk
        })
        .collect()
}

async fn send(agent: &Agent, chunks: Vec<LogChunk>) {
    let request = UploadLogsRequest {
        worker_id: agent.config.worker_id.clone(),
        chunks,
    };
    let sent = agent
        .conn
        .call(Duration::from_secs(120), |mut c| {
            let request = request.clone();
            async move { c.upload_logs(request).await }
        })
        .await;
    match sent {
        Ok(reply) => {
            for (chunk, why) in request.chunks.iter().zip(reply.refused) {
                if !why.is_empty() {
                    tracing::warn!(
                        try_number = chunk.try_number,
                        "the servers refused a log chunk (it stays here): {why}"
                    );
                }
            }
        }
        Err(e) => tracing::warn!(
            logs = request.chunks.len(),
            "the servers did not take these logs (they stay on this worker): {e}"
        ),
    }
}
